"""CareCue on AWS: the CloudFormation resources merged into `chalice package`, and the one-command deploy."""
