//! Calibration (DESIGN §12). (in progress)
