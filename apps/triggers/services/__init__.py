"""Writes of triggers (STYLE.md: services), one module per topic:

- `triggers`: creating, changing, deleting triggers; tokens and secrets;
- `events`: durable intake (record → dispatch → relay) and the broker breaker;
- `scheduler`: the tick that fires due schedules;
- `app_events`: provider webhooks per connector, and polling.
"""
