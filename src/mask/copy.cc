// src/mask/copy.cc: placeholder, being written.
