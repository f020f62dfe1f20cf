"""boto3 implementations of the domain ports."""
