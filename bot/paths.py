"""Where the project's bundled files live."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROMPTS_DIR = PROJECT_ROOT / "prompts"
BUNDLED_ARTICLE = PROJECT_ROOT / "data" / "article.fr.txt"
EVAL_SET = PROJECT_ROOT / "evals" / "questions.jsonl"
PUBLIC_SETS = PROJECT_ROOT / "evals" / "public"
DEFAULT_STATE_DIR = PROJECT_ROOT / "var"
VOICE_FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "voice" / "questions.jsonl"
FOLLOW_UP_SET = PROJECT_ROOT / "evals" / "followups.jsonl"
