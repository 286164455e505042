function mpc = syntax
% no version line: MATPOWER reads the struct as version 2 when gen has 21 columns
mpc.baseMVA = 100 ;
mpc.bus = [ 1, 3, 0, 0, 0, 0, 1, 1, 0, 230, 1, 1.1, 0.9 ; % the reference
  2 1 5e1 0 0 0 1 1 0 230 1 1.1 0.9
  3 1 ...
    60 0 0 0 1 1 0 230 1 1.1 0.9];
mpc.gen = [1 0 0 0 0 1 100 1 200 0 0 0 0 0 0 0 0 0 0 0 0; 2 0 0 0 0 1 100 0 200 0 0 0 0 0 0 0 0 0 0 0 0];
mpc.branch = [
	1	2	0	0.1	0	100	0	0	0.98	-3	1	-360	360;
	2	3	0	-0.1	0	0	0	0	0	0	1	-360	360;
	1	3	0	0.2	0	100	0	0	0	0	0	-360	360;
];
mpc.gencost = [
	2	0	0	3	0.01	10	0;
	2	0	0	2	12	0	0;
	2	0	0	1	0	0	0;
	2	0	0	1	0	0	0;
];
mpc.bus_name = {
	'Bus 1}';
	'Bus 2';
};
mpc.areas = [1 1];
