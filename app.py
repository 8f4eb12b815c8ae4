import gc

# Start-up builds what lives as long as the process (modules, tables, rules, vocabularies) and
# next to no garbage, yet the cyclic collector walked it all again and again while it was built,
# then at exit: a third of a `flask` command's CPU. So: no collection while the app is built, and
# what was built is frozen out of every later collection (and off pages a forked worker shares).
gc.disable()

from moderation.web import create_app  # noqa: E402  (after gc.disable, on purpose)

app = create_app()
gc.freeze()
gc.enable()
