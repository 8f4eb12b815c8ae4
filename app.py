import gc
import sys

# Start-up builds what lives as long as the process (modules, tables, rules, vocabularies) and
# next to no garbage, yet the cyclic collector walked it all again and again while it was built,
# then at exit: a third of a `flask` command's CPU. So: no collection while the app is built, and
# what was built is frozen out of every later collection (and off pages a forked worker shares).
gc.disable()

from moderation.web import cli_command, create_app  # noqa: E402  (after gc.disable, on purpose)

# `flask score` (a backfill, started again and again) gets the app without the web pages, API and
# other commands: fewer imports and routes before its first verdict.
app = create_app(web=cli_command(sys.argv) != "score")
gc.freeze()
gc.enable()
