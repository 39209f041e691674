"""Import plan documents (.docx tables and the seeds' text layouts) into plan YAML."""
