// src/mask/detect.cc: placeholder, being written.
