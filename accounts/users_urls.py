"""Users & teams URLs for admins, mounted at /users/ (the Django admin stays for emergencies)."""

from django.urls import path

from accounts import teams_views as teams
from accounts import users_views as users

app_name = "users"
urlpatterns = [
    path("", users.user_list, name="list"),
    path("new/", users.user_create, name="create"),
    path("<int:pk>/", users.user_detail, name="detail"),
    path("<int:pk>/password/", users.user_password, name="password"),
    path("<int:pk>/unlock/", users.user_unlock, name="unlock"),
    path("teams/", teams.team_list, name="teams"),
    path("teams/<int:pk>/", teams.team_detail, name="team"),
    path("teams/<int:pk>/members/", teams.team_members, name="team_members"),
    path("teams/<int:pk>/delete/", teams.team_delete, name="team_delete"),
]
