"""Local stand-ins for the services Dyag talks to, speaking their real wire protocols."""
