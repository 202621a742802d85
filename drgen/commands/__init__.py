"""The commands, one module per area. Each imports the frame (drgen/cli/) and never the other way round;
drgen/main.py registers them on the group."""
