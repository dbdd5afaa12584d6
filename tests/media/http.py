"""Reading media responses as a player does (shared by the streaming and signed-link tests)."""
import re


def playlist_uris(playlist: bytes) -> list[str]:
    """The init and segment URIs of a variant playlist."""
    text = playlist.decode()
    return re.findall(r'URI="([^"]+)"', text) + [line for line in text.splitlines() if line and line[0] != "#"]


def fetch(client, url, **kwargs):
    """GET and read the whole body (closing the file the response streams from)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response
