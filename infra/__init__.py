"""AWS CDK app of the Activity Log service: `stacks/` compose, `constructs/` hold one capability each."""
