module example.com/app

go 1.22

require example.com/mod/net v0.2.1
