// src/mask/plan.cc: placeholder, being written.
