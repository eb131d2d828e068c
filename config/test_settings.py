"""Settings for the test suite: production settings with a throw-away key."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-key-not-a-secret")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Tests run without collectstatic: WhiteNoise looks the files up when asked instead of
# listing STATIC_ROOT at start-up (and warning in every test that it is missing).
WHITENOISE_AUTOREFRESH = True

# A test session started from another one (tests/integration/usage/test_concurrency.py)
# names its own test database, so that the two never share one.
if test_database_name := os.environ.get("DATAPOOL_TEST_DB_NAME"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = test_database_name  # noqa: F405
