// src/mask/catalog.cc: placeholder, being written.
