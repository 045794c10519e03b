from polysync_spec.cli import main

main()
