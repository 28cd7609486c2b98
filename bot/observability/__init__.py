"""What watches the processes: logs (`logs`), Prometheus counters (`metrics`) and the
health endpoints of processes without Slack HTTP (`health`)."""
