from moderation.web import create_app

app = create_app()
