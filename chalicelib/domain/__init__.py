"""The pure domain: no boto3, chalice, jinja2 or os.environ here."""
