"""What happens: the scenario schema and the model of the station network. Imports geo."""
