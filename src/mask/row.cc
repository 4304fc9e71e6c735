// src/mask/row.cc: placeholder, being written.
