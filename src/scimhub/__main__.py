from scimhub.cli import main

main()
