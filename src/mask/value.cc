// src/mask/value.cc: placeholder, being written.
