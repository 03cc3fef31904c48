from bpkit.cli import main

main()
