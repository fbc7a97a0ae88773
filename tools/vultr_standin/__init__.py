"""A local stand-in for the parts of the Vultr API v2 that vultr.yml calls."""
