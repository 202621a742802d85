from drgen.cli import main

main()
