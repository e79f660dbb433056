"""Terminal screens for a hall: pure board state, websocket loop, renderers, speech."""
