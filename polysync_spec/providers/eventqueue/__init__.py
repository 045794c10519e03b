"""Event-driven waiting: the SQS queue an EventBridge rule feeds with the platforms' job
state changes. `names` (pure: rule names, ARNs, the queue policy), `feed` (reading the
queue during apply), `setup` (`polysync events setup`), `permissions` (`polysync iam`)."""
