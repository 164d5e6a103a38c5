"""How CareCue runs: the AWS stack and the local stack."""
