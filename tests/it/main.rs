mod consent;
mod number;
