DROP TABLE case_expenses;
