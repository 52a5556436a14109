"""Speech to text for voice questions: knows nothing of Telegram, loads its model only when first used."""
