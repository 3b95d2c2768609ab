DROP TABLE review_actions;
