DROP TABLE case_legs;
