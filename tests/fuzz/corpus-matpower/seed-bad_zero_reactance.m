function mpc = tiny3
%TINY3  A 3-bus test case for the reader's error messages (line numbers matter).
mpc.version = '2';
mpc.baseMVA = 100;
%% bus data
mpc.bus = [
	1	3	0	0	0	0	1	1	0	230	1	1.1	0.9;
	2	2	50	0	0	0	1	1	0	230	1	1.1	0.9;
	3	1	60	0	0	0	1	1	0	230	1	1.1	0.9;
];
%% generator data
mpc.gen = [
	1	0	0	0	0	1	100	1	200	0;
	2	0	0	0	0	1	100	1	200	0;
];
%% branch data
mpc.branch = [
	1	2	0	0	0	100	0	0	0	0	1	-360	360;
	1	3	0	0.1	0	100	0	0	0	0	1	-360	360;
	2	3	0	0.1	0	100	0	0	0	0	1	-360	360;
];
mpc.gencost = [
	2	0	0	3	0.01	10	0;
	2	0	0	3	0.02	12	0;
];
