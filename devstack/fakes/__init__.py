"""Local servers that speak the real wire formats of providers we cannot reach from here."""
