console.log("native build: not set up yet");
