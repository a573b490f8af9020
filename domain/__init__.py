"""The vocabulary models/ and gateways/ both speak, so that neither imports the other: the gateway
names and each gateway's amount limits. No I/O, no imports from the rest of the project."""
