"""What every test suite shares: one local HTTP receiver (``http``), one bounded wait
(``waiting``) and one free-port finder (``ports``). The real servers (redis-server,
Alertmanager, aiosmtpd) keep their own modules and use these."""
