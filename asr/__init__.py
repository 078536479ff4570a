"""Speech recognition of hotline calls (faster-whisper); filled by the voice-intake work."""
