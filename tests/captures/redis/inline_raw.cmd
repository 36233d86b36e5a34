PING
SET inl "two words"
GET inl
EXISTS inl nothing
QUIT
