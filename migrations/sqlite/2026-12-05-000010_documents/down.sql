DROP TABLE case_documents;
