FROM node:20-bookworm
CMD ["node", "server.js"]
