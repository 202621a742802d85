from drgen.main import main

main()
