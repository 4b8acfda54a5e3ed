"""What it means: metrics, maps, run folders and the command line. Imports geo and sim."""
