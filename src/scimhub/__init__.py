"""scimhub: automatic user provisioning over SCIM 2.0, both halves."""

__version__ = "0.1.0"
