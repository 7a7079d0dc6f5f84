"""Linli 邻里: epidemic response and grassroots governance down the city grid."""
