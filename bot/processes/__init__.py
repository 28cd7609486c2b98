"""What starts a process, and the HTTP serving those processes do.

- `runner`: `python app.py`, the all-in-one process for development (HTTP or Socket Mode,
  with the scheduler in the same process).
- `roles`: the production roles `python -m bot web` (gunicorn) and `python -m bot scheduler`.
- `cli`: every `python -m bot …` command.
- `web`, `web_app`, `gunicorn_conf`, `gunicorn_worker`, `request_deadline`: the WSGI app,
  gunicorn's factory, settings and worker, and the per-request read deadline.
- `scheduler`, `socket_mode`: APScheduler's jobs and Slack's WebSocket link.
"""
